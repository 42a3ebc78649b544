"""Learners' avatars (issue 10): uploads checked and processed with Pillow, kept in S3 with their history."""
