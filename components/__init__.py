"""Components of the whatsapp-miner deployment program."""
