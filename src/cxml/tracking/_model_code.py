"""Models-from-code entry logged with every cxml pyfunc model (see cxml.tracking.pyfunc)."""

import mlflow.models

from cxml.tracking.pyfunc import CxmlPyfuncModel

mlflow.models.set_model(CxmlPyfuncModel())
