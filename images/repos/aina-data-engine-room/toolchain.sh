# aina-data-engine-room: Python with uv. Runs as root in the image build; no network secrets available.
su runner -c 'uv python install 3.12'
