"""Procedure questions: free text to search results to a paged procedure card."""
