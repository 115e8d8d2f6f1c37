"""Helpers the test suite and the benchmarks share: real services on loopback (Redis, an SMTP
sink, Celery workers), the Weifang consultation opened now, labelled form-letter data.

Like `django.test`, it ships with the code but is never imported by the application itself.
"""
