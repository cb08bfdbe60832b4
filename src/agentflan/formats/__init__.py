"""What a format's reader (:mod:`agentflan.sources`) and writer (:mod:`agentflan.writers`) both
need to know about it: its fixed strings and role names. Neither side imports the other."""
