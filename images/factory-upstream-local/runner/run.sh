#!/bin/sh
# The runner stand-in's entry point, where the official runner image has its own run.sh.
exec node /home/runner/runner-standin.mjs
