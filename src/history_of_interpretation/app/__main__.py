"""`python -m history_of_interpretation.app [--port N] [--host H] [--pass-budget P]`: serve the app."""

from .page import launch, parse_arguments

arguments = parse_arguments()
launch(port=arguments.port, host=arguments.host, pass_budget=arguments.pass_budget)
