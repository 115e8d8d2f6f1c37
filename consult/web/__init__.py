"""Project-wide HTTP plumbing below every app: error pages, log redaction, the TLS proxy check.

It imports no app of the project (consult.intake and the rest may import it).
"""
