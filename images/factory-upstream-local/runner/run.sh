#!/bin/sh
echo "runner stand-in"
