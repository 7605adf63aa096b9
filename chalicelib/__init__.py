"""Kalexo Teamwork: everything that is packaged into the Lambda functions besides app.py."""
