#!/bin/sh
# A botify exec: recommender in POSIX shell (docs/PROTOCOL.md): the track
# after the previous one in catalog order (N tracks, default 50000).
#
#   botify simulate --episodes 100 \
#       --recommender "exec:cmd='sh scripts/examples/next_track.sh 50000'"
#
# botify writes compact requests with the keys in a fixed order,
#   {"message":"next","user":17,"track":4211,"time":1.0}
# so plain pattern matching is enough here; a real recommender parses JSON.
n=${1:-50000}
while IFS= read -r line; do
	case $line in
	*'"message":"last"'*)
		echo '{}' ;;   # "last" gets exactly one line back too
	*)
		track=${line#*\"track\":}
		track=${track%%,*}
		echo "{\"track\":$(( (track + 1) % n ))}" ;;
	esac
done
