"""`billing.learners` from the users service's events (see `learners.service`).

The users service publishes v1 and v2 of `user_registered` for every registration: the queue binds both,
and applying the same fact twice changes nothing. Order does not matter: a registration never undoes an
erasure that arrived first.
"""

from __future__ import annotations

from academy_runtime.learner_registry import learner_registry_consumer

from academy_billing.models import KnownLearner

# `billing.learners.registered_at` is required: an erasure that arrives first records its own time there.
learner_registry = learner_registry_consumer(KnownLearner, erased_registered_at_required=True)
