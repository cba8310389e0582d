"""Every table of the platform in one metadata, for Alembic and the migration tests.

Each capability owns its models; this module only gathers them, so that a migration sees the
whole schema whichever capability a process happened to import first.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from server.access import models as access_models
from server.auth import models as auth_models
from server.billing import models as billing_models
from server.cases import models as cases_models
from server.community import models as community_models
from server.consults import models as consults_models
from server.core import task_runs
from server.core.orm import Base
from server.dashboard import models as dashboard_models
from server.dicom import models as dicom_models
from server.ecg import models as ecg_models
from server.patients import models as patients_models
from server.referrals import models as referrals_models
from server.sharing import models as sharing_models
from server.slides import models as slides_models
from server.teaching import models as teaching_models
from server.uploads import models as uploads_models

MODEL_MODULES = (
    community_models,
    patients_models,
    cases_models,
    access_models,
    auth_models,
    task_runs,
    dicom_models,
    uploads_models,
    sharing_models,
    billing_models,
    teaching_models,
    dashboard_models,
    referrals_models,
    ecg_models,
    slides_models,
    consults_models,
)

metadata: MetaData = Base.metadata
