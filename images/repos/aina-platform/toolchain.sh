# aina-platform: pnpm monorepo plus a Python job. Runs as root during the image build, with no secrets.
# The Python job gets its interpreter now, so jobs do not download one each time.
su runner -c 'uv python install 3.12'
