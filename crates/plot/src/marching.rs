//! Iso-lines of a gridded field by marching squares.
//!
//! The field is sampled at `(x_i, y_j)`, `values[j * nx + i]`. A grid edge whose ends lie
//! on different sides of the level (side: `v ≥ level`) carries one crossing point, found
//! by linear interpolation along the edge. Each cell joins its crossings pairwise (two or
//! four of them; the ambiguous saddle is resolved with the mean of the four corners).
//! Because a crossing belongs to an *edge* shared by two cells, the segments are then
//! chained exactly into polylines: open ones end on the grid border or next to a
//! non-finite value, closed ones repeat their first point at the end.

use std::collections::HashMap;

/// A regular grid of samples.
#[derive(Debug, Clone, Copy)]
pub struct Grid<'a> {
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub nx: usize,
    pub ny: usize,
    /// `values[j * nx + i]` at `(x_i, y_j)`.
    pub values: &'a [f64],
}

/// A grid edge: horizontal from `(i, j)` to `(i+1, j)`, or vertical to `(i, j+1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Edge {
    H(usize, usize),
    V(usize, usize),
}

impl Grid<'_> {
    fn x(&self, i: f64) -> f64 {
        self.x_range.0 + i * (self.x_range.1 - self.x_range.0) / (self.nx - 1) as f64
    }

    fn y(&self, j: f64) -> f64 {
        self.y_range.0 + j * (self.y_range.1 - self.y_range.0) / (self.ny - 1) as f64
    }

    fn v(&self, i: usize, j: usize) -> f64 {
        self.values[j * self.nx + i]
    }

    /// Where the level crosses `edge`, in data coordinates.
    fn crossing(&self, edge: Edge, level: f64) -> (f64, f64) {
        let ((i0, j0), (i1, j1)) = match edge {
            Edge::H(i, j) => ((i, j), (i + 1, j)),
            Edge::V(i, j) => ((i, j), (i, j + 1)),
        };
        let (a, b) = (self.v(i0, j0), self.v(i1, j1));
        let t = ((level - a) / (b - a)).clamp(0.0, 1.0);
        (
            self.x(i0 as f64 + t * (i1 - i0) as f64),
            self.y(j0 as f64 + t * (j1 - j0) as f64),
        )
    }

    /// The segments of one cell as pairs of crossed edges.
    fn cell_segments(&self, i: usize, j: usize, level: f64, out: &mut Vec<(Edge, Edge)>) {
        let c = [
            self.v(i, j),
            self.v(i + 1, j),
            self.v(i + 1, j + 1),
            self.v(i, j + 1),
        ];
        if c.iter().any(|v| !v.is_finite()) {
            return;
        }
        let up = c.map(|v| v >= level);
        // Edges in order bottom, right, top, left; edge k joins corners k and k+1.
        let edges = [
            Edge::H(i, j),
            Edge::V(i + 1, j),
            Edge::H(i, j + 1),
            Edge::V(i, j),
        ];
        let crossed: Vec<Edge> = (0..4)
            .filter(|&k| up[k] != up[(k + 1) % 4])
            .map(|k| edges[k])
            .collect();
        match crossed[..] {
            [a, b] => out.push((a, b)),
            [bottom, right, top, left] => {
                // Saddle: corners 0 and 2 on one side, 1 and 3 on the other. If the centre
                // sides with corner 0, the line cuts off corners 1 and 3; else 0 and 2.
                let centre_up = c.iter().sum::<f64>() / 4.0 >= level;
                if centre_up == up[0] {
                    out.push((bottom, right));
                    out.push((top, left));
                } else {
                    out.push((left, bottom));
                    out.push((right, top));
                }
            }
            _ => {}
        }
    }

    /// Iso-lines of `level` as polylines in data coordinates (closed ones end where
    /// they start). Requires `nx, ny ≥ 2` and `values.len() == nx * ny`; returns nothing
    /// otherwise.
    pub fn contour_lines(&self, level: f64) -> Vec<Vec<(f64, f64)>> {
        if self.nx < 2
            || self.ny < 2
            || self.values.len() != self.nx * self.ny
            || !level.is_finite()
        {
            return Vec::new();
        }
        let mut segs = Vec::new();
        for j in 0..self.ny - 1 {
            for i in 0..self.nx - 1 {
                self.cell_segments(i, j, level, &mut segs);
            }
        }
        chain(&segs)
            .into_iter()
            .map(|edges| edges.into_iter().map(|e| self.crossing(e, level)).collect())
            .collect()
    }
}

/// Chains segments that share edges into maximal paths: first from the ends of open
/// paths (edges used once), then the remaining cycles.
fn chain(segs: &[(Edge, Edge)]) -> Vec<Vec<Edge>> {
    let mut at: HashMap<Edge, Vec<usize>> = HashMap::new();
    for (k, &(a, b)) in segs.iter().enumerate() {
        at.entry(a).or_default().push(k);
        at.entry(b).or_default().push(k);
    }
    let mut used = vec![false; segs.len()];
    let mut paths = Vec::new();
    let walk = |start_seg: usize, start: Edge, used: &mut Vec<bool>| {
        let mut path = vec![start];
        let (mut seg, mut from) = (start_seg, start);
        loop {
            used[seg] = true;
            let (a, b) = segs[seg];
            let next = if a == from { b } else { a };
            path.push(next);
            match at[&next].iter().find(|&&s| !used[s]) {
                Some(&s) => (seg, from) = (s, next),
                None => break,
            }
        }
        path
    };
    let mut ends: Vec<(Edge, usize)> = at
        .iter()
        .filter(|(_, v)| v.len() == 1)
        .map(|(&e, v)| (e, v[0]))
        .collect();
    ends.sort_by_key(|&(_, s)| s);
    for (e, s) in ends {
        if !used[s] {
            paths.push(walk(s, e, &mut used));
        }
    }
    for s in 0..segs.len() {
        if !used[s] {
            paths.push(walk(s, segs[s].0, &mut used));
        }
    }
    paths
}

/// `count` levels evenly spaced strictly inside the finite range of `values`, or, when
/// `log`, geometrically spaced inside the range of the positive finite values. Empty when
/// there is no such range.
pub fn levels(values: &[f64], count: usize, log: bool) -> Vec<f64> {
    let admitted = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && (!log || *v > 0.0));
    let (lo, hi) = admitted.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if lo >= hi {
        return Vec::new();
    }
    let (a, b) = if log {
        (lo.log10(), hi.log10())
    } else {
        (lo, hi)
    };
    (1..=count)
        .map(|k| {
            let s = a + (b - a) * k as f64 / (count + 1) as f64;
            if log {
                10f64.powf(s)
            } else {
                s
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle_grid(n: usize) -> Vec<f64> {
        let mut v = Vec::with_capacity(n * n);
        for j in 0..n {
            for i in 0..n {
                let x = -2.0 + 4.0 * i as f64 / (n - 1) as f64;
                let y = -2.0 + 4.0 * j as f64 / (n - 1) as f64;
                v.push(x * x + y * y);
            }
        }
        v
    }

    #[test]
    fn circle_gives_one_closed_loop_on_the_circle() {
        let n = 41;
        let values = circle_grid(n);
        let g = Grid {
            x_range: (-2.0, 2.0),
            y_range: (-2.0, 2.0),
            nx: n,
            ny: n,
            values: &values,
        };
        let lines = g.contour_lines(1.0);
        assert_eq!(lines.len(), 1, "one loop expected");
        let l = &lines[0];
        assert_eq!(l.first(), l.last(), "the loop closes exactly");
        assert!(l.len() > 40);
        // Linear interpolation of r² between grid points of spacing h = 0.1 stays within
        // h²/4 of the true level, so radii are within ~h²/8 of 1.
        for &(x, y) in l {
            let r = (x * x + y * y).sqrt();
            assert!((r - 1.0).abs() < 0.01, "r = {r}");
        }
        // The loop winds once around the origin.
        let mut turn = 0.0;
        for w in l.windows(2) {
            let (a, b) = (w[0].1.atan2(w[0].0), w[1].1.atan2(w[1].0));
            let mut d = b - a;
            if d > std::f64::consts::PI {
                d -= 2.0 * std::f64::consts::PI;
            } else if d < -std::f64::consts::PI {
                d += 2.0 * std::f64::consts::PI;
            }
            turn += d;
        }
        assert!(
            (turn.abs() - 2.0 * std::f64::consts::PI).abs() < 1e-9,
            "turn {turn}"
        );
    }

    #[test]
    fn level_leaving_the_grid_gives_open_lines_on_the_border() {
        let n = 21;
        let values = circle_grid(n);
        let g = Grid {
            x_range: (-2.0, 2.0),
            y_range: (-2.0, 2.0),
            nx: n,
            ny: n,
            values: &values,
        };
        // r = 2.2 leaves the square [-2, 2]² through its four sides near the corners.
        let lines = g.contour_lines(2.2 * 2.2);
        assert_eq!(lines.len(), 4);
        for l in &lines {
            for &p in [l.first().unwrap(), l.last().unwrap()] {
                assert!(
                    (p.0.abs() - 2.0).abs() < 1e-12 || (p.1.abs() - 2.0).abs() < 1e-12,
                    "{p:?}"
                );
            }
        }
        assert!(g.contour_lines(100.0).is_empty());
    }

    #[test]
    fn saddle_and_gaps_do_not_break_chaining() {
        // f = x·y has a saddle at the centre cell; level 0.01 gives two hyperbola branches.
        let n = 10;
        let mut values = Vec::new();
        for j in 0..n {
            for i in 0..n {
                let x = -1.0 + 2.0 * i as f64 / (n - 1) as f64;
                let y = -1.0 + 2.0 * j as f64 / (n - 1) as f64;
                values.push(x * y);
            }
        }
        let g = Grid {
            x_range: (-1.0, 1.0),
            y_range: (-1.0, 1.0),
            nx: n,
            ny: n,
            values: &values,
        };
        let lines = g.contour_lines(0.01);
        assert_eq!(lines.len(), 2);
        for l in &lines {
            assert!(
                l.iter().all(|&(x, y)| x * y > 0.0),
                "branches stay in their quadrants"
            );
        }
        let mut holed = values.clone();
        holed[4 * n + 4] = f64::NAN;
        let g = Grid {
            values: &holed,
            ..g
        };
        assert!(!g.contour_lines(0.5).is_empty());
    }

    #[test]
    fn degenerate_inputs_give_nothing() {
        let v = [1.0, 2.0];
        let g = Grid {
            x_range: (0.0, 1.0),
            y_range: (0.0, 1.0),
            nx: 2,
            ny: 1,
            values: &v,
        };
        assert!(g.contour_lines(1.5).is_empty());
        let g = Grid { nx: 2, ny: 2, ..g };
        assert!(g.contour_lines(1.5).is_empty(), "length mismatch");
    }

    #[test]
    fn level_spacing() {
        assert_eq!(levels(&[0.0, 4.0, f64::NAN], 3, false), [1.0, 2.0, 3.0]);
        let l = levels(&[0.0, 1e-2, 1e2], 3, true);
        assert_eq!(l.len(), 3);
        assert!((l[1] - 1.0).abs() < 1e-12);
        assert!(levels(&[1.0, 1.0], 3, false).is_empty());
        assert!(levels(&[-1.0, 0.0], 3, true).is_empty());
    }
}
