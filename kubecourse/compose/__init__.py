"""kubecourse."""
