from .cli import app

app(prog_name="semantic-layer")
