"""The catalog service: categories, courses with their lessons, and community chats."""
