"""One router per resource; each route declares the permission it needs (`auth.require`)."""
