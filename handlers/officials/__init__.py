"""The officials' side: enrolment, their agency's petitions and the actions on them."""
