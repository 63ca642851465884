"""The requirements the checklist enforces, quoted once from their sources."""

CLAUDE_CODE_GATEWAY = "https://code.claude.com/docs/en/llm-gateway-rollout"
API_ERRORS = "https://platform.claude.com/docs/en/api/errors"
API_STREAMING = "https://platform.claude.com/docs/en/build-with-claude/streaming"
API_CACHING = "https://docs.claude.com/en/docs/build-with-claude/prompt-caching"
API_TOOLS = "https://docs.claude.com/en/docs/agents-and-tools/tool-use/overview"
API_THINKING = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
API_VERSIONING = "https://platform.claude.com/docs/en/api/versioning"
API_RATE_LIMITS = "https://platform.claude.com/docs/en/api/rate-limits"
WIRE_DOC = "shared/reference/anthropic-wire.md"

STREAM_AS_ARRIVED = "Stream responses: pass server-sent events through as they arrive instead of buffering."
FORWARD_UNCHANGED = (
    "Forward headers and body unchanged: pass `anthropic-beta`, `anthropic-version`, and the request body through "
    "in both directions."
)
ERRORS_UNMODIFIED = (
    "Return upstream errors unmodified: Claude Code's automatic recovery matches on error wording, so wrapping "
    "errors in the gateway's own envelope breaks it."
)
ERROR_ENVELOPE = (
    "Errors are always returned as JSON, with a top-level error object that always includes a type and message value."
)
REQUEST_ID = (
    "Every API response includes a unique request-id header … When contacting support about a specific request, "
    "please include this ID."
)
OAUTH = (
    "OAuth access tokens (sk-ant-oat…) are accepted only as `Authorization: Bearer` together with "
    "`anthropic-beta: oauth-2025-04-20`; the same token in x-api-key is rejected."
)
THINKING_UNCHANGED = (
    "Pass thinking blocks back exactly as received, with the signature field intact; a thinking or "
    "redacted_thinking block that differs in any way fails the signature check."
)
CACHE_USAGE = (
    "cache_creation_input_tokens, cache_read_input_tokens and the cache_creation breakdown report what was written "
    "to and read from the cache; total input = input_tokens + cache_creation_input_tokens + cache_read_input_tokens."
)
TOOL_USE = (
    "A tool_use block carries id, name and input; the client answers with tool_result blocks whose tool_use_id "
    "matches, in the next user message."
)
SSE_FRAMING = (
    "Each event will use an SSE event name (e.g. event: message_stop), and include the matching event type in its "
    "data; event streams may also include any number of ping events."
)
RETRY_HEADERS = (
    "retry-after: the number of seconds to wait until you can retry the request; the SDKs also honour "
    "x-should-retry, which overrides their status-code retry policy."
)
API_SERVER_TOOLS = "https://docs.claude.com/en/docs/agents-and-tools/tool-use/web-search-tool"
API_STOP_REASONS = "https://docs.claude.com/en/api/handling-stop-reasons"
SERVER_TOOLS = (
    "Server tools run on Anthropic's side: the response carries server_tool_use blocks, their *_tool_result blocks "
    "and text with citations (citations_delta when streamed), usage.server_tool_use counts the calls, and a turn the "
    "server paused ends with stop_reason pause_turn, to be continued by sending the response back as it came."
)
STOP_SEQUENCE = (
    "stop_reason is stop_sequence when the model generated one of your custom stop sequences, and stop_sequence "
    "names which one."
)
CLAUDE_CODE_PROTOCOL = "Claude Code's gateway contract (code.claude.com/docs/en/llm-gateway-protocol; GET /protocol):"
