# Memory vs speed of partial-compression plans (bench/plan_bench.sh).
# gnuplot -e "datafile='plot.dat'; outfile='out.png'" bench/plot_plans.gp
# plot.dat columns: accounted weight MiB, tokens/s, peak RSS MiB, "name"
set terminal pngcairo size 900,600 noenhanced font ",10"
set output outfile
set title "Partial compression on a generated 2048x8 llama (CPU, one thread): memory vs speed"
set xlabel "memory (MiB)"
set ylabel "tokens/s (one-token steps)"
set grid
set key top left
set logscale y 2
plot datafile using 1:2 with points pt 7 ps 1.4 title "linear weights in memory (raw + compressed + buffer)", \
     datafile using 3:2 with points pt 6 ps 1.4 title "peak RSS of the process", \
     datafile using 1:2:4 with labels offset 1,0.6 left font ",8" notitle
