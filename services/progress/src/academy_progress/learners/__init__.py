"""The learners progress knows of: a projection of the users service's registrations and erasures."""
