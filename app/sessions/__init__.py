"""Cash sessions: opening, movements, closing (service, closing), and the reads the views show
(queries). Their HTTP edge is app/api/sessions.py."""
