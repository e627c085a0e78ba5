"""What the tests read of a Bokeh figure's legend."""


def legend_entries(fig) -> dict[str, list]:
    """Each legend entry's label and the renderers it shows (and hides when clicked)."""
    return {item.label["value"]: item.renderers for item in fig.legend.items}
