"""The progress service: enrolments, lesson progress, transcripts and the course projection."""
