"""ipywidgets views over the facade (they talk to a cluster only through `Cluster`)."""

from kubecourse.widgets.display import mermaid
from kubecourse.widgets.scaler import ScaleWidget, scaler

__all__ = ["ScaleWidget", "mermaid", "scaler"]
