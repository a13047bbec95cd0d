"""The channels citizens and officials write from; each turns its events into aiogram Updates."""
