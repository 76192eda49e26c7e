"""Validation errors for compose input, each problem located by file, line and key path.

The classes live in `kubecourse.errors` (the package's one error tree); this module
re-exports them for the compose package.
"""

from __future__ import annotations

from kubecourse.errors import ComposeError, ComposeValidationError, Problem

__all__ = ["ComposeError", "ComposeValidationError", "Problem"]
