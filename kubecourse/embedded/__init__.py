"""An embedded, Kubernetes-API-compatible cluster: API server, store and controllers.

Knows nothing of compose, widgets or the client facade.
"""
