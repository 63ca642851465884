"""A spike as data: the questions a findings report must answer and the options it must decide between.

A question file (``fixtures/questions/spike-3.yaml``; a team's own with ``--questions FILE``)::

    title: "Spike #3 — how our agents reach api.anthropic.com"
    questions:
      - id: cache-litellm-api-key
        ask: Is cache_read_input_tokens preserved through LiteLLM with a standard API key?
        checks: [cache.usage-preserved, "sse.*"]   # only these answer it; ids, area globs, @contract
        targets: [litellm]               # target words without their version (see _expectations.target_key)
        yes_when: all                    # all (default): every target that answered says yes; any: one is enough
        yes_text: cache usage comes back as the upstream sent it   # optional: the deciding observation
        origin: spike 2, open            # optional: where the question comes from
    options:
      - id: a
        name: LiteLLM holds a real API key, cost from its callbacks
        targets: [litellm, litellm-unified]   # ways to deploy it; the option takes its best one
        needs: [cache-litellm-api-key]        # questions that must be answered yes on that target
    recommendation:                           # tracks, each naming options in order of preference
      - track: Short term
        prefer: [c, b]
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..core._exceptions import InputError
from ..core._fixtures import SPIKE_QUESTIONS

DEFAULT_QUESTIONS = SPIKE_QUESTIONS
YES_WHEN = ("all", "any")


@dataclass(frozen=True)
class Question:
    id: str
    ask: str
    checks: tuple[str, ...]
    targets: tuple[str, ...]
    yes_when: str = "all"
    yes: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    targets: tuple[str, ...]
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Track:
    name: str
    prefer: tuple[str, ...]


@dataclass(frozen=True)
class Spike:
    """What one findings report answers; ``path`` is where it was read from (shown in the report)."""

    title: str
    questions: tuple[Question, ...]
    options: tuple[Option, ...] = ()
    tracks: tuple[Track, ...] = ()
    path: str = ""

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)

    def check_ids(self) -> set[str]:
        """Every check id the file names (validated against the registry by the loader)."""
        return {c for q in self.questions for c in q.checks}


def _words(value: Any, where: str, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise InputError(f"{where}: '{field}' must be a non-empty list of names")
    return tuple(value)


def load_spike(path: Path | None = None, known_checks: set[str] | None = None) -> Spike:
    """The spike in ``path`` (default: the project's spike #3 file); a malformed file or an unknown check id raises
    InputError naming the file and the entry, in one line."""
    path = Path(path or DEFAULT_QUESTIONS)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InputError(f"questions file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"questions file {path} is not YAML: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or not data["questions"]:
        raise InputError(f"questions file {path}: needs a 'questions' list")
    questions = []
    for i, entry in enumerate(data["questions"]):
        where = f"questions file {path}, question {i + 1}"
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("ask"):
            raise InputError(f"{where}: every question needs id, ask, checks and targets")
        yes_when = entry.get("yes_when", "all")
        if yes_when not in YES_WHEN:
            raise InputError(f"{where} ({entry['id']}): yes_when must be {' or '.join(YES_WHEN)}")
        questions.append(Question(str(entry["id"]), str(entry["ask"]), _words(entry.get("checks"), where, "checks"),
                                  _words(entry.get("targets"), where, "targets"), yes_when,
                                  entry.get("yes_text"), entry.get("origin")))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise InputError(f"questions file {path}: question ids repeat")
    if known_checks is not None:
        for q in questions:
            unknown = [c for c in q.checks if c != "@contract" and not fnmatch.filter(known_checks, c)]
            if unknown:
                raise InputError(f"questions file {path}, question {q.id}: unknown check id(s) {', '.join(unknown)}")
    options = []
    for i, entry in enumerate(data.get("options") or []):
        where = f"questions file {path}, option {i + 1}"
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("name"):
            raise InputError(f"{where}: every option needs id, name and targets")
        needs = tuple(entry.get("needs") or ())
        missing = sorted(set(needs) - set(ids))
        if missing:
            raise InputError(f"{where} ({entry['id']}): needs unknown question(s) {', '.join(missing)}")
        options.append(Option(str(entry["id"]), str(entry["name"]), _words(entry.get("targets"), where, "targets"),
                              needs))
    option_ids = {o.id for o in options}
    tracks = []
    for i, entry in enumerate(data.get("recommendation") or []):
        where = f"questions file {path}, recommendation {i + 1}"
        if not isinstance(entry, dict) or not entry.get("track"):
            raise InputError(f"{where}: every track needs a name ('track') and 'prefer'")
        prefer = _words(entry.get("prefer"), where, "prefer")
        if set(prefer) - option_ids:
            raise InputError(f"{where}: prefers unknown option(s) {', '.join(sorted(set(prefer) - option_ids))}")
        tracks.append(Track(str(entry["track"]), prefer))
    return Spike(str(data.get("title") or "Egress conformance"), tuple(questions), tuple(options), tuple(tracks),
                 str(path))
