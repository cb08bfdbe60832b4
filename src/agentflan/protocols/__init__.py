"""Agent protocols: the text formats an agent reads and writes."""
