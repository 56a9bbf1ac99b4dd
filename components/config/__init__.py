"""Config: what a stack asks for, read and checked before any resource."""
