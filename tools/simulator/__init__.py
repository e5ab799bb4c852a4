"""The night simulator: raw frames as an observatory records them, rendered where the real pipeline's
physical model puts light, with the truth of every science exposure written beside it.

Entry points: `plan.night_plan` (what a night holds), `uves.simulate_night` (render and write it
atomically), `thar.write_line_refer_table` (the LINE_REFER_TABLE static calibration), and the
`phoenix simulate` command.
"""
