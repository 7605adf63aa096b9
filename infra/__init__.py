"""What `chalice deploy` needs to exist first (template.yaml), and the commands that deploy and package it."""
