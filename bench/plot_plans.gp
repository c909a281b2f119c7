# Memory vs speed of partial-compression plans (bench/plan_bench.sh).
# gnuplot -e "datafile='plot.dat'; outfile='out.png'" bench/plot_plans.gp
# plot.dat columns: accounted weight MiB, tokens/s, peak RSS MiB, "name",
# family (0 all-resident/all-compressed, 1 every-N, 2 planner)
set terminal pngcairo size 1000,650 noenhanced font ",10"
set output outfile
set title "Partial compression, generated 2048x8 llama on a CPU (one thread): memory vs speed"
set xlabel "linear weights in memory: raw + compressed + decode buffer (MiB)"
set ylabel "tokens/s (one-token steps, log scale)"
set grid
set key bottom right
set logscale y 2
set offsets 12, 40, 0, 0
fam(f) = (column(5) == f ? $2 : NaN)
plot datafile using 1:(fam(0)) with points pt 5 ps 1.5 lc rgb "#444444" title "all-resident / all-compressed", \
     datafile using 1:(fam(1)) with points pt 9 ps 1.7 lc rgb "#d95f02" title "every-N (paper)", \
     datafile using 1:(fam(2)) with points pt 7 ps 1.3 lc rgb "#1b9e77" title "planner (budgets)", \
     datafile using 1:(fam(1)):4 with labels right offset -1.2,-0.6 font ",8" tc rgb "#d95f02" notitle, \
     datafile using 1:(fam(0)):4 with labels left offset 1.2,0 font ",8" notitle, \
     datafile using 1:(fam(2)):4 with labels left offset 1.2,0.6 font ",8" tc rgb "#1b9e77" notitle
