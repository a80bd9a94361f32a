"""The hub's web portal: ``streamlit run portal/streamlit_app.py`` (API at ``AXHUB_API_URL``)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run portal/streamlit_app.py` runs this as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import navigation
from portal.state import locale, t, user

st.set_page_config(page_title="AX Hub", page_icon=":material/factory:", layout="wide")
navigation.sidebar()
me = user()
pages = navigation.pages_for(me["role"] if me else None, locale())
current = st.navigation(pages)
if me is not None:
    st.sidebar.caption(t("app.footer"))
current.run()
