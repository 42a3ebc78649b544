"""`billing.learners` from the users service's events (see `learners.service`), and the learner's erasure.

The queue binds every version of `user_registered` and `user_erased` still in flight (v3 and v2 now, v1 and
v2 queued from before the users service's issue-10 release): applying the same fact twice changes nothing.
Order does not matter: a registration never undoes an erasure that arrived first. An erasure also
pseudonymises the learner's financial records, in the same transaction (`learners.erasure`).
"""

from __future__ import annotations

from academy_runtime.learner_registry import learner_registry_consumer

from academy_billing.learners.erasure import on_learner_erased
from academy_billing.models import KnownLearner

# `billing.learners.registered_at` is required: an erasure that arrives first records its own time there.
learner_registry = learner_registry_consumer(
    KnownLearner, erased_registered_at_required=True, on_erased=on_learner_erased
)
