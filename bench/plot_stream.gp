# Streaming from storage (bench/stream_bench.sh): tokens/s against memory.
# gnuplot -e "dat='plot.dat'; out='out.png'; budget=512" bench/plot_stream.gp
# plot.dat columns: "name" (int8-* / dc-*), accounted weight MiB, tokens/s
set terminal pngcairo size 1000,650 noenhanced font ",10"
set output out
set title "Streaming a generated llama from storage: INT8 vs double compression"
set xlabel "linear weights in memory: raw + compressed + ring and read buffers (MiB, log scale)"
set ylabel "tokens/s (one-token steps, log scale)"
set logscale y 2
set grid
set key top left
set logscale x 2
set xrange [16:4096]
set arrow from budget, graph 0 to budget, graph 1 nohead dt 2 lc rgb "#888888"
set label "budget" at budget, graph 0.95 left offset 0.5, 0 tc rgb "#888888"
isdc(s) = (substr(s, 1, 3) eq "dc-")
plot dat using 2:(isdc(strcol(1)) ? NaN : $3) with points pt 5 ps 1.6 lc rgb "#d95f02" title "INT8 (raw-stored .dcz)", \
     dat using 2:(isdc(strcol(1)) ? $3 : NaN) with points pt 7 ps 1.6 lc rgb "#1b9e77" title "DC (ANS .dcz)", \
     dat using 2:3:1 with labels left offset 1.2, 0.6 font ",8" notitle
