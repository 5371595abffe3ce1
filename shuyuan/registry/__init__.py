"""Education base data (一数一源): the authoritative registry of schools, people and rosters."""
