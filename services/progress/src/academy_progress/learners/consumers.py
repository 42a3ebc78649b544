"""`progress.learners` from the users service's events (see `learners.service`).

The users service publishes v1 and v2 of `user_registered` for every registration: the queue binds both
(either one is enough to know the learner exists), and applying the same fact twice changes nothing.
Order does not matter: a registration never undoes an erasure that arrived first.
"""

from __future__ import annotations

from academy_runtime.learner_registry import learner_registry_consumer

from academy_progress.models import KnownLearner

learner_registry = learner_registry_consumer(KnownLearner)
