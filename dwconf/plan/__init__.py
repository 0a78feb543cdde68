"""Planning: the diff of desired and live state, its side effects, the ordered steps, renderers."""
