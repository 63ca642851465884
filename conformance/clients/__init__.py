"""Layer 4, real clients and observation: the official Python and TypeScript SDKs and Claude Code pointed at a
path, the upstream's journal as a check reads it, Claude Code's gateway contract. May import ``core``,
``upstream`` and ``paths``."""
