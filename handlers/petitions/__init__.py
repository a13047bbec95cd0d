"""The citizen's side of petitions (phản ánh, kiến nghị): the form, tracking, published answers."""
