"""Running Claude Code as a check does, through the path or direct: shared by the client.claude-code.* checks and
the egress checks that run it inside an agent's sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..core._exceptions import HarnessError
from ..core._redact import redact
from ..core._wire import API_KEY_HEADER, AUTHORIZATION, BETA_HEADER
from ._context import CheckContext
from ._verify import holds

if TYPE_CHECKING:
    from ..paths import Connection

T = TypeVar("T")


def first_party(ctx: CheckContext) -> bool:
    """Whether Claude Code runs through this path with no custom base URL (HTTPS_PROXY, or in a closed agent
    sandbox): it then talks to api.anthropic.com as first party, while "direct" here needs a base URL, and its
    retry policy differs between the two, so attempt counts are not comparable."""
    sandboxed = ctx.run.sandbox is not None and not ctx.run.sandbox.open
    return bool(ctx.path.connection().proxy) or sandboxed


def prepared_client(ctx: CheckContext, what: str, install: Callable[[], T], kind: str,
                    direct: bool) -> tuple[T, Connection, str | None, list[tuple[str, str]]]:
    """What every client run starts with: the installed client (``unsupported`` naming ``what`` when it cannot be
    had), the connection and path prefix it is pointed at, and the headers its credential ``kind`` gives."""
    from ..core._exceptions import PathError

    try:
        installed = install()
    except PathError as exc:
        ctx.unsupported(f"{what} not available: {exc}")
    ctx.check_live()
    connection, prefix = ctx.client_connection(direct)
    headers = ctx.direct_auth(kind) if direct else ctx.auth_headers(kind)
    return installed, connection, prefix, headers


def claude_run(ctx: CheckContext, prompt: str, *, kind: str = "api-key", direct: bool = False,
            extra_env: dict[str, str | None] | None = None) -> Any:
    """Run Claude Code once through the path (or direct); ``unsupported`` where it cannot be pointed at the path."""
    from ..clients._claude_code import Cancelled, installed_claude_code, run_claude
    from ..core._exceptions import CheckCancelled

    settings = ctx.run.settings
    binary, connection, prefix, headers = prepared_client(
        ctx, "Claude Code", lambda: installed_claude_code(settings.claude_code_version, settings.cache_dir), kind,
        direct)
    if connection.connect_to is not None:
        ctx.unsupported("Claude Code reaches api.anthropic.com:443 only through DNS, and there is no agent sandbox "
                        f"here ({ctx.path.unsupported_reasons.get('sandbox', 'not made')})")
    env: dict[str, str] = {}
    custom = []
    for name, value in headers:
        if name.lower() == API_KEY_HEADER:
            env["ANTHROPIC_API_KEY"] = value
        elif name.lower() == AUTHORIZATION and kind == "oauth":
            env["CLAUDE_CODE_OAUTH_TOKEN"] = value.split(" ", 1)[1]
        elif name.lower() == AUTHORIZATION:
            env["ANTHROPIC_AUTH_TOKEN"] = value.split(" ", 1)[1]
        elif name.lower() != BETA_HEADER:
            custom.append(f"{name}: {value}")
    if custom:
        env["ANTHROPIC_CUSTOM_HEADERS"] = "\n".join(custom)
        if not any(k in env for k in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN")):
            env["ANTHROPIC_API_KEY"] = custom[0].split(": ", 1)[1]  # the gateway key, as LiteLLM's docs set it up
    ca_pem = getattr(ctx.path, "ca_pem", None)
    try:
        run = run_claude(binary, connection, {**env, **(extra_env or {})}, prompt, ca_pem=ca_pem,
                         slots=settings.claude_slots, queued=ctx.bound_paused, prefix=prefix,
                         should_stop=lambda: ctx.cancelled.is_set() or (not direct and
                                                                        bool(ctx.run.liveness.dead_reason)))
    except Cancelled as exc:
        raise CheckCancelled(str(exc)) from None
    ctx.check_live()  # a run killed because the path stopped answering says so, not "Claude Code failed"
    ctx.note(f"claude_code{'_direct' if direct else ''}", {
        "version": settings.claude_code_version, "returncode": run.returncode, "timed_out": run.timed_out,
        "queued_s": run.queued_s, "ran_s": run.ran_s,
        "result": redact(str(run.result.get("result", "")))[:400], "is_error": run.result.get("is_error"),
        "stderr": redact(run.stderr[-400:])})
    return run


def turn_ok(ctx: CheckContext, run: Any, label: str) -> bool:
    if run.timed_out and not run.result:
        # Killed at its bound with nothing said: no behaviour was observed (a path that never answers), an error.
        raise HarnessError(f"{label}: Claude Code got no answer through {ctx.path.name} and was stopped at its "
                           "time bound")
    ok = run.returncode == 0 and run.result.get("is_error") is False
    holds(ctx, ok, f"{label}: Claude Code ended with code {run.returncode}"
          + (" (timed out)" if run.timed_out else "") + f": {redact(str(run.result.get('result', '')))[:160]}",
          "a completed turn", redact(str(run.result))[:300])
    return ok
