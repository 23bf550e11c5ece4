"""Code-style information extraction (KnowCoder/AlignXIE conventions): schemas rendered as Python
classes, a parser of model output that never executes it, and a string-level scorer."""
