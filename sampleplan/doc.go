// Package sampleplan says how many plants of a block to hand count, and
// which, for a yield interval of a wanted width: from the block's camera
// counts (the objects topic) and, once plants are hand counted, their
// observed spread (the math is crops.PlanSamples).
package sampleplan
