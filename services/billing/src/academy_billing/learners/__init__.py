"""The learners billing knows of: a projection of the users service's registrations and erasures."""
