"""Real Celery worker processes: verification, previews, cine, sweeps, overdue flags, urgent queue, a killed worker."""
