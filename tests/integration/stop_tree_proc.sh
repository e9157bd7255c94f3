#!/bin/sh
# stop_tree.sh without cgroups: every tree found in /proc.
STOP_TREE_LEASHD="use_cgroups = false"
. "$(cd "$(dirname "$0")" && pwd)/stop_tree.sh"
